/*
 * The shell start-up files under $HOME (bash, zsh with $ZDOTDIR, fish and its
 * conf.d, environment.d), read line by line for the lines that set a variable:
 * NAME=…, export NAME=…, declare -x NAME=…, set -gx NAME …, setenv NAME ….
 * Only a file's name and a line's number are ever printed.
 */
#include "profile.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"

/* A start-up file larger than this is not read. */
#define PROFILE_MAX (1 << 20)

/* The start-up files, relative to $HOME ("Z" marks those relative to $ZDOTDIR when set). */
static const char *const files[] = {
    ".profile",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_aliases",
    "Z.zshenv",
    "Z.zprofile",
    "Z.zshrc",
    "Z.zlogin",
    ".pam_environment",
    ".config/fish/config.fish",
    NULL,
};

/* Directories whose every file with the suffix is read too. */
static const struct {
	const char *dir, *suffix;
} dirs[] = {
    {".config/fish/conf.d", ".fish"},
    {".config/environment.d", ".conf"},
    {NULL, NULL},
};

/* Skip blanks. */
static const char *
blanks(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* The end of the word at s. */
static const char *
word_end(const char *s, const char *end)
{
	while (s < end && *s != ' ' && *s != '\t' && *s != '=')
		s++;
	return s;
}

/* True when the word [s, e) is w. */
static bool
word_is(const char *s, const char *e, const char *w)
{
	return (size_t)(e - s) == strlen(w) && memcmp(s, w, (size_t)(e - s)) == 0;
}

/* True when the line [s, end) sets name: NAME=, export/declare/typeset NAME=, set … NAME, setenv
 * NAME. */
static bool
line_sets(const char *s, const char *end, const char *name)
{
	const char *e;
	bool fish = false;

	s = blanks(s, end);
	e = word_end(s, end);
	if (word_is(s, e, "set") || word_is(s, e, "setenv")) {
		fish = true;
	} else if (word_is(s, e, "export") || word_is(s, e, "declare") ||
	           word_is(s, e, "typeset") || word_is(s, e, "readonly")) {
		fish = false;
	} else {
		return word_is(s, e, name) && e < end && *e == '=';
	}
	/* Past the command word and its options, to the name. */
	for (s = blanks(e, end); s < end && *s == '-'; s = blanks(word_end(s, end), end))
		;
	e = word_end(s, end);
	if (!word_is(s, e, name))
		return false;
	return fish || (e < end && *e == '=');
}

/*
 * Read a regular file of at most PROFILE_MAX bytes into text (followed through
 * symbolic links: dotfiles often are). Returns 0 or -1.
 */
static int
read_file(const char *path, struct buf *text)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > PROFILE_MAX) {
		close(fd);
		return -1;
	}
	buf_reserve(text, (size_t)st.st_size + 1);
	while ((n = read(fd, text->data + text->len, text->cap - text->len - 1)) > 0) {
		text->len += (size_t)n;
		buf_reserve(text, 1);
	}
	close(fd);
	return n == 0 ? 0 : -1;
}

/* Append ", ~/FILE:LINE" to where for each line of the file at path that sets name. */
static void
scan(const char *path, const char *shown, const char *name, struct buf *where)
{
	struct buf text = {0};
	const char *s, *nl, *end;
	unsigned line = 1;

	if (read_file(path, &text) == -1) {
		buf_free(&text);
		return;
	}
	end = text.data + text.len;
	for (s = text.data; s < end; s = nl + 1, line++) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL)
			nl = end;
		if (line_sets(s, nl, name)) {
			buf_adds(where, where->len > 0 ? ", " : "");
			buf_adds(where, shown);
			buf_addc(where, ':');
			buf_addi(where, line);
		}
	}
	buf_free(&text);
}

/* Scan every start-up file for name, appending where it is set. */
static void
scan_all(const char *home, const char *zdot, const char *name, struct buf *where)
{
	char path[PATHS_MAX * 2], shown[PATHS_MAX * 2];
	struct dirent *e;
	size_t i;
	DIR *d;

	for (i = 0; files[i] != NULL; i++) {
		bool z = files[i][0] == 'Z';
		const char *base = z && zdot != NULL ? zdot : home, *f = files[i] + (z ? 1 : 0);

		snprintf(path, sizeof path, "%s/%s", base, f);
		snprintf(shown, sizeof shown, "%s%s%s", base == home ? "~" : base, "/", f);
		scan(path, shown, name, where);
	}
	for (i = 0; dirs[i].dir != NULL; i++) {
		snprintf(path, sizeof path, "%s/%s", home, dirs[i].dir);
		d = opendir(path);
		while (d != NULL && (e = readdir(d)) != NULL) {
			size_t n = strlen(e->d_name), k = strlen(dirs[i].suffix);

			if (n <= k || strcmp(e->d_name + n - k, dirs[i].suffix) != 0)
				continue;
			snprintf(path, sizeof path, "%s/%s/%s", home, dirs[i].dir, e->d_name);
			snprintf(shown, sizeof shown, "~/%s/%s", dirs[i].dir, e->d_name);
			scan(path, shown, name, where);
		}
		if (d != NULL)
			closedir(d);
	}
}

void
profile_report(const char *const *names, size_t n)
{
	const char *home = getenv("HOME"), *zdot = getenv("ZDOTDIR");
	struct buf where = {0}, all = {0};
	int width = 0;
	size_t i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		if ((int)strlen(names[i]) > width)
			width = (int)strlen(names[i]);
	}
	printf("\nThe keystore holds these now. Delete them from your shell profile, so that "
	       "they stop\nreaching every program you start:\n");
	for (i = 0; i < n; i++) {
		buf_clear(&where);
		if (home != NULL && home[0] == '/')
			scan_all(home, zdot != NULL && zdot[0] == '/' ? zdot : NULL, names[i],
			         &where);
		printf("  %-*s  %s\n", width, names[i],
		       where.len > 0 ? where.data
		                     : "(not set in ~/.bashrc, ~/.profile, ~/.zshrc, "
		                       "config.fish …: look where you set it)");
		buf_adds(&all, " ");
		buf_adds(&all, names[i]);
	}
	printf("Then start a new shell, or drop them from this one with: unset%s (bash, zsh), "
	       "set -e%s (fish)\n",
	       all.data, all.data);
	buf_free(&where);
	buf_free(&all);
}
