/*
 * envlist: print the environment names ccr-keyd never stores or injects
 * (common/names.c, env_refused_list), one entry a line, for the tests that
 * prove the docs and the Node module's copy say the same.
 *
 *   envlist            every entry, as written ("LD_*" for a prefix)
 *   envlist NAME...    "refused" or "allowed" for each NAME, one a line
 */
#include <stdio.h>

#include "names.h"

int
main(int argc, char **argv)
{
	int i;

	if (argc == 1) {
		for (i = 0; env_refused_list[i] != NULL; i++)
			printf("%s\n", env_refused_list[i]);
		return 0;
	}
	for (i = 1; i < argc; i++)
		printf("%s\n", env_is_refused(argv[i]) ? "refused" : "allowed");
	return 0;
}
