/*
 * The router's config for ccr-config migrate: read and scanned once, then
 * written back only if it is still as read — after a 0600 backup
 * CONFIG.bak-YYYYMMDDTHHMMSS that never replaces a file, atomically, and with
 * the original's mode.
 */
#include "migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fileio.h"

/*
 * Copy the original text to PATH.bak-YYYYMMDDTHHMMSS (UTC; "-2", "-3" … appended
 * when that exists), mode 0600, never replacing a file. Returns 0 with its name
 * in out, or an exit code after printing why.
 */
static int
backup(const struct migration *m, char *out, size_t size)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int i, n, fd = -1, saved;

	if (gmtime_r(&now, &tm) == NULL || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm) == 0)
		return cli_error(EXIT_FAILURE_OTHER, "cannot read the clock; %s is unchanged",
		                 m->path);
	for (i = 1; i <= 99 && fd == -1; i++) {
		if (i == 1)
			n = snprintf(out, size, "%s.bak-%s", m->path, stamp);
		else
			n = snprintf(out, size, "%s.bak-%s-%d", m->path, stamp, i);
		if (n < 0 || (size_t)n >= size)
			return cli_error(EXIT_FAILURE_OTHER,
			                 "the backup's name would be too long; "
			                 "%s is unchanged",
			                 m->path);
		fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			return cli_error(EXIT_FAILURE_OTHER,
			                 "cannot create the backup %s: %s; %s is "
			                 "unchanged",
			                 out, strerror(errno), m->path);
	}
	if (fd == -1)
		return cli_error(EXIT_FAILURE_OTHER,
		                 "too many backups named %s.bak-%s*; %s is "
		                 "unchanged",
		                 m->path, stamp, m->path);
	if (fileio_write_all(fd, m->text.data, m->text.len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(out);
		return cli_error(EXIT_FAILURE_OTHER,
		                 "cannot write the backup %s: %s; %s is unchanged", out,
		                 strerror(saved), m->path);
	}
	if (close(fd) == -1) {
		saved = errno;
		unlink(out);
		return cli_error(EXIT_FAILURE_OTHER,
		                 "cannot write the backup %s: %s; %s is unchanged", out,
		                 strerror(saved), m->path);
	}
	return 0;
}

/* Rewrite the config with every placed literal replaced. Returns 0 or an exit code. */
int
migrate_rewrite(struct migration *m, char *bak, size_t baksize)
{
	const char **values = calloc(m->n, sizeof *values);
	struct buf out = {0}, now = {0};
	char err[1024];
	size_t i;
	int rc;

	if (values == NULL)
		abort();
	for (i = 0; i < m->n; i++) {
		if (m->plans[i].ref[0] != '\0')
			values[i] = m->plans[i].ref;
	}
	rc = json5edit_replace(m->text.data, m->text.len, m->p, m->n, values, &out);
	free(values);
	if (rc == -1) {
		rc = cli_error(EXIT_FAILURE_OTHER, "cannot rewrite %s; it is unchanged", m->path);
		goto done;
	}
	/* Someone may have edited the file since we read it: write over nothing unseen. */
	rc = fileio_read(m->path, 0, &now, NULL, err, sizeof err);
	if (rc != 0 || now.len != m->text.len || memcmp(now.data, m->text.data, now.len) != 0) {
		rc = cli_error(EXIT_FAILURE_OTHER,
		               "%s changed while it was migrated; it is left as "
		               "it is: run ccr-config migrate again",
		               m->path);
		goto done;
	}
	rc = backup(m, bak, baksize);
	if (rc != 0)
		goto done;
	if (fileio_write_atomic(m->path, out.data, out.len, m->st.st_mode & 07777, err,
	                        sizeof err) == -1) {
		rc = cli_error(EXIT_FAILURE_OTHER,
		               "%s; %s is unchanged (the keys are stored: run "
		               "ccr-config migrate again)",
		               err, m->path);
		goto done;
	}
	for (i = 0; i < m->n; i++) {
		struct plan *pl = &m->plans[i];
		char what[256];

		if (pl->kind != PLAN_STORE && pl->kind != PLAN_REUSE)
			continue;
		snprintf(what, sizeof what, "%s", pl->kind == PLAN_STORE ? "stored" : pl->line);
		snprintf(pl->line, sizeof pl->line, "%s, config now uses %s", what, pl->ref);
	}
done:
	buf_free(&out);
	buf_free(&now);
	return rc;
}

/* Read and scan the config. Returns 0 or an exit code after printing why. */
int
migrate_load(struct migration *m)
{
	char err[1024];
	int rc;

	rc = fileio_read(m->path, 0, &m->text, &m->st, err, sizeof err);
	if (rc == 1)
		return cli_error(EXIT_NOT_FOUND, "%s does not exist; nothing to migrate", m->path);
	if (rc == -1)
		return cli_error(EXIT_FAILURE_OTHER, "%s; nothing migrated", err);
	if (json5edit_providers(m->text.data, m->text.len, &m->p, &m->n, err, sizeof err) == -1)
		return cli_error(EXIT_FAILURE_OTHER, "%s: %s; nothing migrated", m->path, err);
	return 0;
}
