/*
 * ccr-config shell-init bash|zsh|fish: print a `ccr` function for eval, so that
 * `ccr config …` is ccr-config and every other `ccr …` runs the real router
 * under `ccr-config exec --`.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Write s single-quoted for POSIX shells and fish ('\'' splices a quote in). */
static void
put_quoted(const char *s, bool fish)
{
	putchar('\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs(fish ? "\\'" : "'\\''", stdout);
		else if (fish && *s == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

/* The absolute path of this program, so the function works without PATH changes. */
static void
self_path(char *out, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 1);

	if (n > 0)
		out[n] = '\0';
	else
		snprintf(out, size, "ccr-config");
}

/* Print the function for one shell. */
static int
cmd_shell_init(struct cli *cli, int argc, char **argv)
{
	char self[PATHS_MAX];
	const char *shell = argc == 2 ? argv[1] : NULL;

	if (shell == NULL)
		return cli_usage(cli);
	self_path(self, sizeof self);
	if (strcmp(shell, "bash") == 0 || strcmp(shell, "zsh") == 0) {
		printf("# ccr: claude-code-router with its keys from ccr-keyd "
		       "(eval \"$(ccr-config shell-init %s)\")\n",
		       shell);
		printf("ccr() {\n"
		       "  if [ \"$#\" -gt 0 ] && [ \"$1\" = config ]; then\n"
		       "    shift\n"
		       "    command ");
		put_quoted(self, false);
		printf(" \"$@\"\n"
		       "  else\n"
		       "    command ");
		put_quoted(self, false);
		printf(" exec -- ccr \"$@\"\n"
		       "  fi\n"
		       "}\n");
		return EXIT_OK;
	}
	if (strcmp(shell, "fish") == 0) {
		printf("# ccr: claude-code-router with its keys from ccr-keyd "
		       "(ccr-config shell-init fish | source)\n"
		       "function ccr --description 'claude-code-router with keys from ccr-keyd'\n"
		       "    if test (count $argv) -gt 0; and test \"$argv[1]\" = config\n"
		       "        command ");
		put_quoted(self, true);
		printf(" $argv[2..-1]\n"
		       "    else\n"
		       "        command ");
		put_quoted(self, true);
		printf(" exec -- ccr $argv\n"
		       "    end\n"
		       "end\n");
		return EXIT_OK;
	}
	return cli_error(EXIT_USAGE, "unknown shell '%s'; use bash, zsh or fish", shell);
}

const struct command cmd_shell_init_entry = {
	.name = "shell-init",
	.usage = "bash|zsh|fish",
	.summary = "print the `ccr` shell function: ccr config … and ccr start with keys",
	.run = cmd_shell_init,
};
