/*
 * Where the shell's start-up files set a variable, so that import env can say
 * which lines to delete once the keystore holds the keys.
 */
#ifndef CCR_PROFILE_H
#define CCR_PROFILE_H

#include <stddef.h>

/*
 * Print, after an import, the n variables names now held by the keystore: each
 * with the files and line numbers under $HOME where a shell sets it (bash, zsh,
 * fish, environment.d), and how to drop them from the running shell. Never
 * prints a line's text, which holds the key.
 */
void profile_report(const char *const *names, size_t n);

#endif
