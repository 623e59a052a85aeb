/*
 * Path defaults and the private-directory check shared by daemon and client.
 */
#include "paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Format into out, failing when the result would be truncated. */
static int
join(char *out, size_t size, const char *a, const char *b, char *err, size_t errsize)
{
	int n = snprintf(out, size, "%s%s", a, b);

	if (n < 0 || (size_t)n >= size) {
		snprintf(err, errsize, "path too long: %s%s", a, b);
		return -1;
	}
	return 0;
}

#ifdef PATHS_NO_NSS
/*
 * The home directory of uid as /etc/passwd gives it, in out; NULL when it is
 * not there. For the statically linked client (Makefile): there glibc's
 * getpwuid would dlopen the NSS modules nsswitch.conf names (systemd, sss …),
 * and a module loaded into a static program crashes it. A user whom only such
 * a module knows has to set HOME, which every login does.
 */
static const char *
passwd_home(uid_t uid, char *out, size_t size)
{
	char line[4096], *field[7], *p, *end;
	const char *found = NULL;
	FILE *f = fopen("/etc/passwd", "re");
	unsigned long id;
	int n;

	if (f == NULL)
		return NULL;
	while (found == NULL && fgets(line, sizeof line, f) != NULL) {
		p = strchr(line, '\n');
		if (p == NULL && !feof(f)) {
			int c;

			while ((c = getc(f)) != EOF && c != '\n')
				; /* too long to be anybody's: skip it whole */
			continue;
		}
		if (p != NULL)
			*p = '\0';
		for (n = 0, p = line; n < 7 && p != NULL; n++) {
			field[n] = p;
			p = strchr(p, ':');
			if (p != NULL)
				*p++ = '\0';
		}
		if (n < 6 || field[2][0] < '0' || field[2][0] > '9')
			continue;
		id = strtoul(field[2], &end, 10);
		if (*end == '\0' && id == (unsigned long)uid && field[5][0] == '/' &&
		    (size_t)snprintf(out, size, "%s", field[5]) < size)
			found = out;
	}
	fclose(f);
	return found;
}
#endif

/* The value of an environment variable, or NULL when unset or empty. */
static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

int
paths_home(char *out, size_t size, char *err, size_t errsize)
{
	const char *home = env_nonempty("CCR_HOME");
#ifdef PATHS_NO_NSS
	char dir[PATHS_MAX];
#else
	struct passwd *pw;
#endif

	if (home != NULL)
		return join(out, size, home, "", err, errsize);
	home = env_nonempty("HOME");
	if (home == NULL) {
#ifdef PATHS_NO_NSS
		home = passwd_home(geteuid(), dir, sizeof dir);
#else
		pw = getpwuid(geteuid());
		home = pw != NULL ? pw->pw_dir : NULL;
#endif
		if (home == NULL) {
			snprintf(err, errsize, "cannot find the home directory; set HOME or CCR_HOME");
			return -1;
		}
	}
	return join(out, size, home, "/.claude-code-router", err, errsize);
}

int
paths_keystore(char *out, size_t size, char *err, size_t errsize)
{
	const char *keys = env_nonempty("CCR_KEYS");
	char home[PATHS_MAX];

	if (keys != NULL)
		return join(out, size, keys, "", err, errsize);
	if (paths_home(home, sizeof home, err, errsize) == -1)
		return -1;
	return join(out, size, home, "/keys", err, errsize);
}

int
paths_socket(char *out, size_t size, char *err, size_t errsize)
{
	const char *sock = env_nonempty("CCR_KEYD_SOCKET");
	const char *run = env_nonempty("XDG_RUNTIME_DIR");
	char home[PATHS_MAX];

	if (sock != NULL)
		return join(out, size, sock, "", err, errsize);
	if (run != NULL)
		return join(out, size, run, "/ccr-keyd/sock", err, errsize);
	if (paths_home(home, sizeof home, err, errsize) == -1)
		return -1;
	return join(out, size, home, "/keyd.sock", err, errsize);
}

void
paths_dirname(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		snprintf(out, size, ".");
		return;
	}
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1;
	if (n >= size)
		n = size - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int
make_dirs(const char *dir, int parents)
{
	char tmp[PATHS_MAX];
	char *p;

	if (!parents)
		return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
	if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int
paths_private_dir(const char *dir, int mkdir_parents, char *err, size_t errsize)
{
	struct stat st;

	if (lstat(dir, &st) == -1) {
		if (errno != ENOENT || make_dirs(dir, mkdir_parents) == -1 || lstat(dir, &st) == -1) {
			snprintf(err, errsize, "cannot create directory %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errsize, "%s is a symlink; remove it or point the path elsewhere", dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsize, "%s is not a directory; move it away", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errsize, "%s is owned by uid %ld, not by you; use a directory of your own",
			 dir, (long)st.st_uid);
		return -1;
	}
	if (st.st_mode & 022) {
		snprintf(err, errsize, "%s is writable by others; run: chmod go-w %s", dir, dir);
		return -1;
	}
	return 0;
}
