/*
 * Unit tests for paths.c: the home, keystore and socket defaults and their
 * environment overrides, dirname, and the private-directory check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "paths.h"

/* Each test runs in a fresh temporary directory with the path variables cleared. */
struct fixture {
	char dir[64];
	char err[512];
	char out[PATHS_MAX];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/ccr-test-paths.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	unsetenv("CCR_HOME");
	unsetenv("CCR_KEYS");
	unsetenv("CCR_KEYD_SOCKET");
	unsetenv("XDG_RUNTIME_DIR");
	setenv("HOME", "/home/tester", 1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];

	snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s'; rm -rf '%s'", f->dir, f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* dir/rel in a static buffer. */
static const char *
under(struct fixture *f, const char *rel)
{
	static char p[PATHS_MAX];

	snprintf(p, sizeof p, "%s/%s", f->dir, rel);
	return p;
}

static void
test_home_defaults_to_claude_code_router_under_home(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(paths_home(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/home/tester/.claude-code-router");
}

static void
test_ccr_home_overrides_the_home_directory(void **state)
{
	struct fixture *f = *state;

	setenv("CCR_HOME", "/srv/ccr", 1);
	assert_int_equal(paths_home(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/srv/ccr");
}

static void
test_empty_ccr_home_is_ignored(void **state)
{
	struct fixture *f = *state;

	setenv("CCR_HOME", "", 1);
	assert_int_equal(paths_home(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/home/tester/.claude-code-router");
}

static void
test_home_without_home_variable_comes_from_passwd(void **state)
{
	struct fixture *f = *state;

	unsetenv("HOME");
	assert_int_equal(paths_home(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_true(f->out[0] == '/');
	assert_non_null(strstr(f->out, "/.claude-code-router"));
}

static void
test_keystore_defaults_to_keys_in_home(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(paths_keystore(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/home/tester/.claude-code-router/keys");
	setenv("CCR_HOME", "/srv/ccr", 1);
	assert_int_equal(paths_keystore(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/srv/ccr/keys");
}

static void
test_ccr_keys_overrides_the_keystore_path(void **state)
{
	struct fixture *f = *state;

	setenv("CCR_HOME", "/srv/ccr", 1);
	setenv("CCR_KEYS", "/etc/test/keys.json", 1);
	assert_int_equal(paths_keystore(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/etc/test/keys.json");
}

static void
test_ccr_keyd_socket_overrides_every_other_socket_rule(void **state)
{
	struct fixture *f = *state;

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	setenv("CCR_HOME", "/srv/ccr", 1);
	setenv("CCR_KEYD_SOCKET", "/tmp/test.sock", 1);
	assert_int_equal(paths_socket(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/tmp/test.sock");
}

static void
test_socket_lives_in_xdg_runtime_dir_when_it_is_set(void **state)
{
	struct fixture *f = *state;

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	setenv("CCR_HOME", "/srv/ccr", 1);
	assert_int_equal(paths_socket(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/run/user/1000/ccr-keyd/sock");
}

static void
test_socket_falls_back_to_home_without_xdg_runtime_dir(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(paths_socket(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/home/tester/.claude-code-router/keyd.sock");
	setenv("CCR_HOME", "/srv/ccr", 1);
	assert_int_equal(paths_socket(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/srv/ccr/keyd.sock");
}

static void
test_empty_xdg_runtime_dir_falls_back_to_home(void **state)
{
	struct fixture *f = *state;

	setenv("XDG_RUNTIME_DIR", "", 1);
	setenv("CCR_KEYD_SOCKET", "", 1);
	assert_int_equal(paths_socket(f->out, sizeof f->out, f->err, sizeof f->err), 0);
	assert_string_equal(f->out, "/home/tester/.claude-code-router/keyd.sock");
}

static void
test_a_path_that_does_not_fit_is_an_error_not_a_truncation(void **state)
{
	struct fixture *f = *state;
	char small[16];

	f->err[0] = '\0';
	assert_int_equal(paths_keystore(small, sizeof small, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "too long"));
	f->err[0] = '\0';
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_int_equal(paths_socket(small, sizeof small, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "too long"));
}

static void
test_dirname_returns_the_directory_part(void **state)
{
	char out[PATHS_MAX];

	(void)state;
	paths_dirname("/home/tester/.claude-code-router/keys", out, sizeof out);
	assert_string_equal(out, "/home/tester/.claude-code-router");
	paths_dirname("dir/file", out, sizeof out);
	assert_string_equal(out, "dir");
}

static void
test_dirname_of_a_bare_name_is_dot_and_of_a_root_file_is_slash(void **state)
{
	char out[PATHS_MAX];

	(void)state;
	paths_dirname("keys", out, sizeof out);
	assert_string_equal(out, ".");
	paths_dirname("/keys", out, sizeof out);
	assert_string_equal(out, "/");
}

static void
test_private_dir_is_created_with_mode_0700(void **state)
{
	struct fixture *f = *state;
	const char *d = under(f, "sockdir");
	struct stat st;
	mode_t old = umask(0);
	int rc = paths_private_dir(d, 0, f->err, sizeof f->err);

	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(lstat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void
test_private_dir_creates_missing_parents_0700_when_asked(void **state)
{
	struct fixture *f = *state;
	char d[PATHS_MAX];
	struct stat st;
	mode_t old;
	int rc;

	snprintf(d, sizeof d, "%s", under(f, "a/b/c"));
	old = umask(0);
	rc = paths_private_dir(d, 1, f->err, sizeof f->err);
	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(lstat(d, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(under(f, "a"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(under(f, "a/b"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void
test_private_dir_without_parents_fails_when_the_parent_is_missing(void **state)
{
	struct fixture *f = *state;

	f->err[0] = '\0';
	assert_int_equal(paths_private_dir(under(f, "x/y"), 0, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "cannot create"));
	assert_int_equal(access(under(f, "x"), F_OK), -1);
}

static void
test_private_dir_accepts_an_existing_private_directory(void **state)
{
	struct fixture *f = *state;
	const char *d = under(f, "mine");

	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(paths_private_dir(d, 0, f->err, sizeof f->err), 0);
	assert_int_equal(chmod(d, 0755), 0);
	assert_int_equal(paths_private_dir(d, 0, f->err, sizeof f->err), 0);
}

static void
test_private_dir_refuses_a_symlink_to_a_good_directory(void **state)
{
	struct fixture *f = *state;
	char target[PATHS_MAX];

	snprintf(target, sizeof target, "%s", under(f, "real"));
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, under(f, "link")), 0);
	f->err[0] = '\0';
	assert_int_equal(paths_private_dir(under(f, "link"), 0, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "symlink"));
}

static void
test_private_dir_refuses_a_regular_file(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(under(f, "file"), "w");

	assert_non_null(fp);
	fclose(fp);
	f->err[0] = '\0';
	assert_int_equal(paths_private_dir(under(f, "file"), 0, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "not a directory"));
}

static void
test_private_dir_refuses_a_group_writable_directory(void **state)
{
	struct fixture *f = *state;
	const char *d = under(f, "gw");

	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chmod(d, 0770), 0);
	f->err[0] = '\0';
	assert_int_equal(paths_private_dir(d, 0, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "chmod go-w"));
}

static void
test_private_dir_refuses_a_world_writable_directory(void **state)
{
	struct fixture *f = *state;
	const char *d = under(f, "ww");

	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chmod(d, 01777), 0);
	f->err[0] = '\0';
	assert_int_equal(paths_private_dir(d, 0, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "writable by others"));
}

static void
test_private_dir_refuses_a_directory_owned_by_someone_else(void **state)
{
	struct fixture *f = *state;
	char d[PATHS_MAX];

	if (geteuid() == 0) {
		/* As root, make one that belongs to nobody. */
		snprintf(d, sizeof d, "%s", under(f, "theirs"));
		assert_int_equal(mkdir(d, 0700), 0);
		assert_int_equal(chown(d, 65534, 65534), 0);
	} else {
		/* As anyone else, the root directory is not ours. */
		snprintf(d, sizeof d, "/");
	}
	f->err[0] = '\0';
	assert_int_equal(paths_private_dir(d, 0, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "not by you"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_home_defaults_to_claude_code_router_under_home),
	    T(test_ccr_home_overrides_the_home_directory),
	    T(test_empty_ccr_home_is_ignored),
	    T(test_home_without_home_variable_comes_from_passwd),
	    T(test_keystore_defaults_to_keys_in_home),
	    T(test_ccr_keys_overrides_the_keystore_path),
	    T(test_ccr_keyd_socket_overrides_every_other_socket_rule),
	    T(test_socket_lives_in_xdg_runtime_dir_when_it_is_set),
	    T(test_socket_falls_back_to_home_without_xdg_runtime_dir),
	    T(test_empty_xdg_runtime_dir_falls_back_to_home),
	    T(test_a_path_that_does_not_fit_is_an_error_not_a_truncation),
	    T(test_dirname_returns_the_directory_part),
	    T(test_dirname_of_a_bare_name_is_dot_and_of_a_root_file_is_slash),
	    T(test_private_dir_is_created_with_mode_0700),
	    T(test_private_dir_creates_missing_parents_0700_when_asked),
	    T(test_private_dir_without_parents_fails_when_the_parent_is_missing),
	    T(test_private_dir_accepts_an_existing_private_directory),
	    T(test_private_dir_refuses_a_symlink_to_a_good_directory),
	    T(test_private_dir_refuses_a_regular_file),
	    T(test_private_dir_refuses_a_group_writable_directory),
	    T(test_private_dir_refuses_a_world_writable_directory),
	    T(test_private_dir_refuses_a_directory_owned_by_someone_else),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
