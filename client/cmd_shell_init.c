/*
 * ccr-config shell-init bash|zsh|fish: print a `ccr` function for eval, so that
 * `ccr config …` is ccr-config and every other `ccr …` is the router run by
 * `ccr-config router --` (keys to its server only), with completion for both:
 * `ccr config <TAB>` completes as ccr-config does, `ccr <TAB>` offers the
 * router's commands.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The router's commands that `ccr <TAB>` offers, and `config`. */
#define ROUTER_WORDS "config start stop restart status code ui model activate version help"

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

/*
 * The completion file for a shell beside this program: installed (first
 * candidate, under ../share) or in the source tree. Returns false when none.
 */
static bool
completion_file(const char *self, const char *installed, const char *source, char *out, size_t size)
{
	const char *const where[] = {installed, source, NULL};
	const char *const up[] = {"..", "../..", NULL};
	char dir[PATHS_MAX], path[PATHS_MAX * 2];
	const char *slash = strrchr(self, '/');
	size_t i, j;

	if (slash == NULL)
		return false;
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - self), self);
	for (i = 0; where[i] != NULL; i++) {
		for (j = 0; up[j] != NULL; j++) {
			snprintf(path, sizeof path, "%s/%s/%s", dir, up[j], where[i]);
			if (access(path, R_OK) == 0 && realpath(path, out) != NULL &&
			    strlen(out) < size)
				return true;
		}
	}
	return false;
}

/* The function and its completion for bash and zsh. */
static void
print_posix(const char *self, const char *shell)
{
	char comp[PATH_MAX];
	bool zsh = strcmp(shell, "zsh") == 0;
	bool have = zsh ? completion_file(self, "share/zsh/site-functions/_ccr-config",
	                                  "completions/_ccr-config", comp, sizeof comp)
	                : completion_file(self, "share/bash-completion/completions/ccr-config",
	                                  "completions/ccr-config.bash", comp, sizeof comp);

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
	printf(" router -- \"$@\"\n"
	       "  fi\n"
	       "}\n");
	if (!zsh) {
		printf("# ccr config <TAB> completes as ccr-config; ccr <TAB> offers the router's "
		       "commands.\n"
		       "_ccr_shell() {\n"
		       "  if [ \"$COMP_CWORD\" -ge 2 ] && [ \"${COMP_WORDS[1]}\" = config ]; then\n"
		       "    declare -F _ccr_config >/dev/null ||\n"
		       "      { declare -F _completion_loader >/dev/null && _completion_loader "
		       "ccr-config; }\n");
		if (have) {
			printf("    declare -F _ccr_config >/dev/null || . ");
			put_quoted(comp, false);
			printf("\n");
		}
		printf("    declare -F _ccr_config >/dev/null || return 0\n"
		       "    local -a COMP_WORDS=(");
		put_quoted(self, false);
		printf(" \"${COMP_WORDS[@]:2}\")\n"
		       "    local COMP_CWORD=$((COMP_CWORD - 1))\n"
		       "    _ccr_config\n"
		       "  elif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
		       "    COMPREPLY=($(compgen -W '" ROUTER_WORDS "' -- "
		       "\"${COMP_WORDS[1]}\"))\n"
		       "  fi\n"
		       "}\n"
		       "complete -F _ccr_shell ccr 2>/dev/null || true\n");
		if (have) {
			/* ccr-config <TAB> too, wherever it was installed (bash-completion need not
			 * be). */
			printf("complete -p ccr-config >/dev/null 2>&1 || . ");
			put_quoted(comp, false);
			printf(" 2>/dev/null || true\n");
		}
		return;
	}
	if (have) {
		/* ccr-config <TAB> too: its directory in $fpath, which compinit reads. */
		*strrchr(comp, '/') = '\0';
		printf("(( ${fpath[(Ie)");
		put_quoted(comp, false);
		printf("]} )) || fpath=(");
		put_quoted(comp, false);
		printf(" $fpath)\n");
		strcat(comp, "/_ccr-config");
	}
	printf(
	    "# ccr config <TAB> completes as ccr-config; ccr <TAB> offers the router's commands.\n"
	    "_ccr_shell() {\n"
	    "  if (( CURRENT > 2 )) && [[ $words[2] == config ]]; then\n"
	    "    (( $+functions[_ccr-config] )) || autoload -Uz +X _ccr-config 2>/dev/null");
	if (have) {
		printf(" ||\n      source ");
		put_quoted(comp, false);
	}
	printf("\n"
	       "    (( $+functions[_ccr-config] )) || return 1\n"
	       "    words=(");
	put_quoted(self, false);
	printf(" \"${(@)words[3,-1]}\")\n"
	       "    (( CURRENT-- ))\n"
	       "    _ccr-config\n"
	       "  elif (( CURRENT == 2 )); then\n"
	       "    compadd -- " ROUTER_WORDS "\n"
	       "  fi\n"
	       "}\n"
	       "# Register now when compinit has run, else at the first prompt after it has (the\n"
	       "# eval often comes before compinit in .zshrc); exit 0 either way.\n"
	       "_ccr_compdef() {\n"
	       "  (( $+functions[compdef] )) || return 0\n"
	       "  compdef _ccr_shell ccr\n"
	       "  (( $+_comps[ccr-config] )) || { autoload -Uz _ccr-config && compdef _ccr-config "
	       "ccr-config; }\n"
	       "  (( $+functions[add-zsh-hook] )) && add-zsh-hook -d precmd _ccr_compdef\n"
	       "  unfunction _ccr_compdef\n"
	       "  return 0\n"
	       "}\n"
	       "if (( $+functions[compdef] )); then\n"
	       "  _ccr_compdef\n"
	       "else\n"
	       "  { autoload -Uz add-zsh-hook && add-zsh-hook precmd _ccr_compdef; } 2>/dev/null\n"
	       "fi\n"
	       "true\n");
}

/* The function and its completion for fish, which cannot background a function. */
static void
print_fish(const char *self)
{
	char comp[PATH_MAX];
	bool have = completion_file(self, "share/fish/vendor_completions.d/ccr-config.fish",
	                            "completions/ccr-config.fish", comp, sizeof comp);

	printf("# ccr: claude-code-router with its keys from ccr-keyd "
	       "(ccr-config shell-init fish | source)\n"
	       "# fish runs `ccr start &` in the foreground; for a router in the background type:\n"
	       "#   ccr-config router --background start\n"
	       "function ccr --description 'claude-code-router with keys from ccr-keyd'\n"
	       "    if test (count $argv) -gt 0; and test \"$argv[1]\" = config\n"
	       "        command ");
	put_quoted(self, true);
	printf(" $argv[2..-1]\n"
	       "    else\n"
	       "        command ");
	put_quoted(self, true);
	printf(
	    " router -- $argv\n"
	    "    end\n"
	    "end\n"
	    "# ccr config <TAB> completes as ccr-config; ccr <TAB> offers the router's commands.\n"
	    "function __ccr_shell_config\n");
	if (have) {
		printf("    functions -q __ccr_config_command; or source ");
		put_quoted(comp, true);
		printf("\n");
	}
	printf("    set -l words (commandline -opc)\n"
	       "    test \"$words[2]\" = config; or return\n"
	       "    complete -C (string join ' ' -- (string escape -- ");
	put_quoted(self, true);
	printf(" $words[3..-1]) (commandline -ct))\n"
	       "end\n"
	       "complete -c ccr -f\n"
	       "complete -c ccr -n 'test (count (commandline -opc)) -eq 1' -a '" ROUTER_WORDS "'\n"
	       "complete -c ccr -n 'test (count (commandline -opc)) -gt 1' -a "
	       "'(__ccr_shell_config)'\n");
}

/*
 * The coding agents --agents wraps: each runs under `ccr-config guard`, under
 * the guard and confined by the kernel, however it is started from the shell.
 */
static const char *const agent_commands[] = {
    "claude",       "codex", "gemini", "aider", "opencode", "goose",
    "cursor-agent", "qwen",  "amp",    "crush", NULL};

/* Wrappers that run each agent command under the guard, and the mark that check reads. */
static void
print_agents(const char *self, bool fish)
{
	size_t i;

	printf(
	    "# Coding agents run under the guard, confined by the kernel (shell-init --agents);\n"
	    "# `command claude` runs one bare.\n");
	printf(fish ? "set -gx CCR_KEYD_WRAPS_AGENTS 1\n" : "export CCR_KEYD_WRAPS_AGENTS=1\n");
	for (i = 0; agent_commands[i] != NULL; i++) {
		if (fish) {
			printf(
			    "function %s --wraps %s --description 'under the guard of ccr-keyd'\n"
			    "    command ",
			    agent_commands[i], agent_commands[i]);
			put_quoted(self, true);
			printf(" guard -- %s $argv\nend\n", agent_commands[i]);
		} else {
			printf("%s() { command ", agent_commands[i]);
			put_quoted(self, false);
			printf(" guard -- %s \"$@\"; }\n", agent_commands[i]);
		}
	}
}

enum { OPT_AGENTS };

static const struct cmd_option options[] = {
    [OPT_AGENTS] = {"agents", 'a', NULL,
                    "also wrap the coding agents (claude, codex, gemini, aider, …) so that "
                    "each runs under the guard, confined"},
    {0},
};

/* Print the function for one shell. */
static int
cmd_shell_init(struct cli *cli, const struct args *args)
{
	const char *shell = args->argv[0];
	bool agents = args_has(args, OPT_AGENTS);
	char self[PATHS_MAX];

	(void)cli;
	/* The absolute path of this program, so the function works without PATH changes. */
	if (cli_self_path(self, sizeof self) == -1)
		snprintf(self, sizeof self, "ccr-config");
	if (strcmp(shell, "bash") == 0 || strcmp(shell, "zsh") == 0) {
		print_posix(self, shell);
		if (agents)
			print_agents(self, false);
		return EXIT_OK;
	}
	if (strcmp(shell, "fish") == 0) {
		print_fish(self);
		if (agents)
			print_agents(self, true);
		return EXIT_OK;
	}
	return cli_error(EXIT_USAGE, "unknown shell '%s'; use bash, zsh or fish", shell);
}

const struct command cmd_shell_init_entry = {
    .name = "shell-init",
    .usage = "[--agents] bash|zsh|fish",
    .summary = "print the `ccr` shell function: ccr config …, and the router with keys only "
               "in its server",
    .options = options,
    .args = {.min = 1, .max = 1},
    .example = "eval \"$(ccr-config shell-init --agents bash)\"",
    .run = cmd_shell_init,
};
