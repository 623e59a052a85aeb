/*
 * ccr-config check, the config's part: what in the router's config.json would
 * expose the keys — no APIKEY (or one by reference), a debug log level, a
 * config the router does not read, literal keys in it, and the files beside it
 * that hold keys in clear: backups (migrate's and the router's own) and the
 * router's old logs. Keys are shown masked, never whole.
 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "fileio.h"
#include "interp.h"
#include "json5edit.h"
#include "mask.h"
#include "names.h"

/* The logger levels pino knows (lower-cased by the router's logger). */
static const char *const log_levels[] = {"trace", "debug", "info",   "warn",
                                         "error", "fatal", "silent", NULL};

/* True when a JSON5 literal token (null, true, false, a number) is falsy in JavaScript. */
static bool
token_falsy(const struct buf *tok)
{
	char tmp[64], *end;
	double d;

	if (tok->len == 0 || tok->len >= sizeof tmp)
		return false;
	memcpy(tmp, tok->data, tok->len);
	tmp[tok->len] = '\0';
	if (strcmp(tmp, "null") == 0 || strcmp(tmp, "false") == 0)
		return true;
	if (strcmp(tmp, "true") == 0)
		return false;
	d = strtod(tmp, &end); /* reads 0x…, NaN and Infinity too */
	return *end == '\0' && (d == 0 || isnan(d));
}

/* interp_scan callback: note that a reference was seen. */
static void
saw_ref(void *arg, const char *name, size_t len)
{
	(void)name;
	if (len > 0)
		*(bool *)arg = true;
}

/* Warn when the config has no APIKEY, or a falsy one, or one given by reference. */
static void
check_apikey(const struct json5edit_field *f, const char *path, struct buf *warnings)
{
	const char *why;
	bool ref = false;

	if (f->kind == JSON5EDIT_STRING)
		interp_scan(f->value.data, f->value.len, saw_ref, &ref);
	if (ref) {
		check_warn(
		    warnings, "apikey_reference",
		    "APIKEY is given by reference: a router started without ccr-config "
		    "(a plain `ccr start`, nohup, an IDE, a unit of its own) does not find it "
		    "and takes the text as written, a guessable name, as its login secret; "
		    "start the router through the ccr function, ccr-config router, or the "
		    "ccr-router unit");
		return;
	}
	if (f->kind == JSON5EDIT_ABSENT)
		why = "has no APIKEY";
	else if (f->kind == JSON5EDIT_STRING && f->value.len == 0)
		why = "has an empty APIKEY";
	else if (f->kind == JSON5EDIT_OTHER && token_falsy(&f->value))
		why = "has an APIKEY that is null, false or 0";
	else
		return;
	check_warn(
	    warnings, "no_apikey",
	    "%s %s: router 1.0.x then serves its config, with every key substituted in, to any "
	    "local process at GET /api/config; set \"APIKEY\" in it to a long random secret "
	    "(it may be a reference like \"$CCR_APIKEY\", stored with: ccr-config set ccr "
	    "--env CCR_APIKEY)",
	    path, why);
}

/* Warn when the router would log at debug level, or not start for an unknown level. */
static void
check_log_level(const struct json5edit_field *log, const struct json5edit_field *level,
                interp_lookup_fn lookup, void *arg, struct buf *warnings)
{
	struct buf exp = {0};
	const char *why = NULL;
	size_t i;

	if (log->kind == JSON5EDIT_OTHER && log->value.len == 5 &&
	    memcmp(log->value.data, "false", 5) == 0)
		return; /* "LOG": false turns logging off; nothing else does */
	if (level->kind == JSON5EDIT_ABSENT) {
		why = "LOG_LEVEL is not set and the default is debug";
	} else if (level->kind == JSON5EDIT_OTHER) {
		if (token_falsy(&level->value))
			why = "LOG_LEVEL is null, false or 0, so the default debug applies";
	} else {
		/* The router interpolates LOG_LEVEL too: expand it as it would. */
		interp_expand(level->value.data, level->value.len, lookup, arg, &exp);
		buf_addc(&exp, '\0');
		for (i = 0; exp.data[i] != '\0'; i++)
			exp.data[i] = (char)tolower((unsigned char)exp.data[i]);
		if (exp.data[0] == '\0')
			why = "LOG_LEVEL is empty, so the default debug applies";
		else if (strcmp(exp.data, "debug") == 0)
			why = "LOG_LEVEL is debug";
		else if (strcmp(exp.data, "trace") == 0)
			why = "LOG_LEVEL is trace";
		for (i = 0; why == NULL && log_levels[i] != NULL; i++) {
			if (strcmp(exp.data, log_levels[i]) == 0)
				break;
		}
		if (why == NULL && log_levels[i] == NULL)
			check_warn(
			    warnings, "unknown_log_level",
			    "LOG_LEVEL is not a level the router's logger knows (trace, debug, "
			    "info, warn, error, fatal, silent); the router will fail to start");
		buf_free(&exp);
	}
	if (why != NULL)
		check_warn(
		    warnings, "debug_log",
		    "the router logs at debug level (%s): it writes every upstream request's "
		    "Authorization header, the provider key in clear, to "
		    "~/.claude-code-router/logs/; set \"LOG_LEVEL\": \"info\" in config.json "
		    "(or \"LOG\": false)",
		    why);
}

void
check_router_home(const char *path, struct buf *warnings)
{
	char home[PATHS_MAX], router[PATHS_MAX], a[PATH_MAX], b[PATH_MAX], err[1024];
	const char *h = getenv("HOME");

	if (h == NULL || h[0] == '\0' || paths_home(home, sizeof home, err, sizeof err) == -1)
		return;
	snprintf(router, sizeof router, "%s/.claude-code-router", h);
	if (strcmp(home, router) == 0)
		return;
	if (realpath(home, a) != NULL && realpath(router, b) != NULL && strcmp(a, b) == 0)
		return;
	check_warn(
	    warnings, "other_config",
	    "checked %s, but the router reads %s/config.json: it ignores CCR_HOME and follows "
	    "only HOME; unset CCR_HOME or point it at %s",
	    path, router, router);
}

int
check_exposure(const struct buf *text, const char *path, interp_lookup_fn lookup, void *arg,
               struct buf *warnings, char *err, size_t errsize)
{
	struct json5edit_field apikey, log, level;

	if (json5edit_top_member(text->data, text->len, "APIKEY", &apikey, err, errsize) == -1)
		return cli_error(EXIT_FAILURE_OTHER,
		                 "%s: %s; the router reads it as JSON5 and will not start", path,
		                 err);
	err[0] = '\0';
	json5edit_top_member(text->data, text->len, "LOG", &log, NULL, 0);
	json5edit_top_member(text->data, text->len, "LOG_LEVEL", &level, NULL, 0);
	check_apikey(&apikey, path, warnings);
	check_log_level(&log, &level, lookup, arg, warnings);
	json5edit_field_free(&apikey);
	json5edit_field_free(&log);
	json5edit_field_free(&level);
	return 0;
}

/* Write ", " and the provider's label and masked literal to out; count it in *n. */
static void
add_literal(const struct json5edit_provider *p, size_t i, struct buf *out, size_t *n)
{
	char masked[MASK_MAX], line[NAME_MAX_LEN + MASK_MAX + 32];

	mask_value(p->api_key.value.data, p->api_key.value.len, masked);
	if (p->name.kind == JSON5EDIT_STRING && p->name.value.len == strlen(p->name.value.data) &&
	    p->name.value.len <= NAME_MAX_LEN && name_is_valid(p->name.value.data))
		snprintf(line, sizeof line, "%s (%s)", p->name.value.data, masked);
	else
		snprintf(line, sizeof line, "provider %zu (%s)", i + 1, masked);
	if (*n > 0)
		buf_adds(out, ", ");
	buf_adds(out, line);
	(*n)++;
}

/*
 * The providers of a config text whose api_key is a literal key, as
 * "name (masked), …" in out. Returns how many, or -1 when the text does not parse.
 */
static long
literals(const struct buf *text, struct buf *out)
{
	struct json5edit_provider *p;
	size_t count, i, n = 0;
	char err[256];

	if (json5edit_providers(text->data, text->len, &p, &count, err, sizeof err) == -1)
		return -1;
	for (i = 0; i < count; i++) {
		const struct json5edit_field *k = &p[i].api_key;

		if (k->kind == JSON5EDIT_STRING && k->value.len > 0 &&
		    !interp_has_refs(k->value.data, k->value.len))
			add_literal(&p[i], i, out, &n);
	}
	json5edit_free(p, count);
	buf_addc(out, '\0');
	return (long)n;
}

/* The shell word for path: as is when it needs no quotes, else in single quotes. */
static void
shell_word(const char *path, char *out, size_t size)
{
	size_t i, at = 0;

	if (strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+:@") ==
	    strlen(path)) {
		snprintf(out, size, "%s", path);
		return;
	}
	out[at++] = '\'';
	for (i = 0; path[i] != '\0' && at + 6 < size; i++) {
		if (path[i] == '\'') {
			memcpy(out + at, "'\\''", 4);
			at += 4;
		} else {
			out[at++] = path[i];
		}
	}
	out[at++] = '\'';
	out[at] = '\0';
}

long
check_literals(const char *path, const struct buf *text, bool named, struct buf *warnings)
{
	char word[2 * PATH_MAX + 8];
	struct buf found = {0};
	long n = literals(text, &found);

	if (n > 0) {
		shell_word(path, word, sizeof word);
		check_warn(
		    warnings, "literal_key",
		    "%s holds %ld literal key%s: %s; the router reads it in clear, and so does "
		    "anything that reads the file; move %s into the keystore with: "
		    "ccr-config migrate%s%s",
		    path, n, n == 1 ? "" : "s", found.data, n == 1 ? "it" : "them",
		    named ? " " : "", named ? word : "");
	}
	buf_free(&found);
	return n > 0 ? n : 0;
}

/* True when name ends with suffix. */
static bool
ends_with(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n >= m && strcmp(name + n - m, suffix) == 0;
}

/* The secrets among values[0..n) that text holds, each masked, into found; how many. */
static long
secrets_in(const struct buf *text, const char *const *values, size_t n, struct buf *found)
{
	char masked[MASK_MAX];
	long count = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (values[i] == NULL || strlen(values[i]) < 8 ||
		    memmem(text->data, text->len, values[i], strlen(values[i])) == NULL)
			continue;
		mask_value(values[i], strlen(values[i]), masked);
		if (found->len > 0)
			buf_adds(found, ", ");
		buf_adds(found, masked);
		count++;
	}
	buf_addc(found, '\0');
	return count;
}

/* Warn about one file that holds n keys in clear (found: them masked); what says what it is. */
static void
warn_file(struct buf *warnings, const char *code, const char *file, const char *what, long n,
          const char *found, const char *when)
{
	char word[4 * PATH_MAX];

	shell_word(file, word, sizeof word);
	check_warn(warnings, code, "%s, %s, holds %ld key%s in clear: %s; %sremove it with: rm %s",
	           file, what, n, n == 1 ? "" : "s", found, when, word);
}

/* Look at the router's old logs, DIR/logs/ccr-*.log, for the values given. Returns how many hold one. */
static long
check_logs(const char *dir, const char *const *values, size_t nvalues, struct buf *warnings)
{
	char logs[PATH_MAX + 8], file[2 * PATH_MAX + 16], err[256];
	struct dirent *e;
	long files = 0;
	DIR *d;

	snprintf(logs, sizeof logs, "%s/logs", strcmp(dir, "/") == 0 ? "" : dir);
	d = opendir(logs);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct buf text = {0}, found = {0};
		long n = 0;

		if (strncmp(e->d_name, "ccr-", 4) != 0 || !ends_with(e->d_name, ".log"))
			continue;
		snprintf(file, sizeof file, "%s/%s", logs, e->d_name);
		if (fileio_read(file, 0, &text, NULL, err, sizeof err) == 0)
			n = secrets_in(&text, values, nvalues, &found);
		if (n > 0) {
			warn_file(warnings, "log_with_keys", file, "a log of the router", n,
			          found.data, "");
			files++;
		}
		buf_free(&found);
		buf_free(&text);
	}
	closedir(d);
	return files;
}

long
check_backups(const char *path, const char *const *values, size_t nvalues, struct buf *warnings)
{
	char dir[PATH_MAX], base[NAME_MAX + 8], prefix[NAME_MAX + 8], file[2 * PATH_MAX],
	    err[256];
	const char *slash = strrchr(path, '/');
	struct dirent *e;
	long files = 0;
	DIR *d;

	snprintf(dir, sizeof dir, "%.*s", slash != NULL ? (int)(slash - path) : 1,
	         slash != NULL ? path : ".");
	if (slash == path)
		snprintf(dir, sizeof dir, "/");
	snprintf(base, sizeof base, "%s.", slash != NULL ? slash + 1 : path);
	snprintf(prefix, sizeof prefix, "%sbak-", base);
	d = opendir(dir);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct buf text = {0}, found = {0};
		bool ours = strncmp(e->d_name, prefix, strlen(prefix)) == 0;
		long n = 0;

		/* migrate's CONFIG.bak-TIME, and the router's own CONFIG.TIME.bak. */
		if (!ours && (strncmp(e->d_name, base, strlen(base)) != 0 ||
		              !ends_with(e->d_name, ".bak")))
			continue;
		snprintf(file, sizeof file, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, e->d_name);
		if (fileio_read(file, 0, &text, NULL, err, sizeof err) == 0) {
			n = literals(&text, &found);
			if (n <= 0) {
				buf_clear(&found);
				n = secrets_in(&text, values, nvalues, &found);
			}
		}
		if (n > 0) {
			warn_file(warnings, "backup_with_keys", file,
			          ours ? "a backup migrate left" : "a backup the router made", n,
			          found.data, "once the router works with the keystore, ");
			files++;
		}
		buf_free(&found);
		buf_free(&text);
	}
	closedir(d);
	return files + check_logs(dir, values, nvalues, warnings);
}
