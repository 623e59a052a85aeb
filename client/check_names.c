/*
 * ccr-config check, the env names' part: a key stored under an env name that
 * does not look like a credential's (names.c, env_is_credential) is what an
 * attacker who could write the keystore would plant (MAKEFILES, TAR_OPTIONS
 * run code in what `exec` starts). Such keys keep working; each is listed
 * with the command that removes it, in case nobody meant it.
 */
#include "check.h"
#include "names.h"

void
check_env_names(const struct jsonr *keys, struct buf *warnings)
{
	const struct jsonr *k;

	jsonr_foreach(k, keys)
	{
		const char *name = cli_str(k, "name"), *env = cli_str(k, "env");

		if (env[0] == '\0' || env_is_credential(env))
			continue;
		check_warn(warnings, "env_not_credential",
		           "key %s is stored as $%s, which does not look like a credential's "
		           "name: every program `ccr-config exec` starts gets it; if you did "
		           "not choose it, run: ccr-config delete %s",
		           name, env, name);
	}
}
