/*
 * Key names and environment names (docs/DESIGN.md, "Names and environment names").
 */
#ifndef CCR_NAMES_H
#define CCR_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NAME_MAX_LEN 128
/* A default env name is at most "_" + NAME_MAX_LEN + "_API_KEY". */
#define ENV_MAX_LEN 137

/* True when s is a key name: [A-Za-z0-9][A-Za-z0-9._-]{0,127}. */
bool name_is_valid(const char *s);

/* True when s is an environment name: [A-Z_][A-Z0-9_]*, at most ENV_MAX_LEN long. */
bool env_is_valid(const char *s);

/*
 * The one list of environment names that change how a program loads or where
 * it looks (docs/DESIGN.md, "Names and environment names"): none is ever accepted as
 * a key's env name, nor injected into a process. An entry ending in '*' stands
 * for every name it begins ("LD_*"); the others are exact. NULL-terminated.
 */
extern const char *const env_refused_list[];

/* True when env is on env_refused_list: it is never stored, resolved or injected. */
bool env_is_refused(const char *env);

/*
 * The endings that make an env name look like a credential's ("_API_KEY",
 * "_TOKEN", …), NULL-terminated: docs/DESIGN.md, "Names and environment names".
 */
extern const char *const env_credential_suffixes[];

/*
 * True when env ends in one of env_credential_suffixes after at least one
 * character, or does before a last "_N" (OPENAI_API_KEY_2). A set under any
 * other env name needs a person's confirmation ("env_confirmed"); keys the
 * keystore holds under one keep working.
 */
bool env_is_credential(const char *env);

/*
 * Write the one-line message that refuses an unconfirmed set of a key under an
 * env name that does not look like a credential's to out.
 */
void env_unconfirmed_message(const char *env, char *out, size_t size);

/*
 * Write the one-line message that refuses env as a key's env name to out:
 * "$LD_PRELOAD changes how programs load or where they look, …".
 */
void env_refused_message(const char *env, char *out, size_t size);

/*
 * Write the default environment name of a valid key name to out (at least
 * ENV_MAX_LEN + 1 bytes): the name itself when it already is an env name, else
 * upper-cased with '.' and '-' mapped to '_' and "_API_KEY" appended; a name
 * that starts with a digit gets a leading '_', since no env name may
 * ("1password" → "_1PASSWORD_API_KEY").
 */
void name_default_env(const char *name, char *out);

/*
 * Write the key name that an environment variable of the form X_API_KEY
 * imports as (lower-case X, '_' kept) to out (NAME_MAX_LEN + 1 bytes).
 * Returns false when env does not end in _API_KEY or the result is not a name.
 */
bool name_from_env(const char *env, char *out);

#endif
