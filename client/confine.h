/*
 * Confinement of the agents ccr starts, by the kernel (ccr-keyd.8, "CODING
 * AGENTS"): the agent runs under bubblewrap in a mount namespace where the
 * router's home, ccr-keyd's home, the keystore's directory and the socket's
 * directory are empty tmpfs of its own, and in a pid namespace of its own, so
 * that neither it nor anything it starts (setsid orphans, a tmux server) can
 * read the keystore, plant or remove a socket, see, trace, read or signal a
 * process outside. The rest of the file system, HOME included, is the user's
 * as ever; so is the network.
 */
#ifndef CCR_CONFINE_H
#define CCR_CONFINE_H

#include <stdbool.h>
#include <stddef.h>

/* The environment variable set inside a confinement (to "bubblewrap"). */
#define CONFINE_ENV "CCR_KEYD_CONFINED"

/*
 * Whether agents can be confined here: bubblewrap is installed and can make
 * its namespaces (user namespaces allowed). Asked once per process; false
 * with why set to what is missing and what protects the user instead.
 */
bool confine_available(char *why, size_t whysize);

/*
 * Execute cmd confined. Returns only on failure, with an exit code, after
 * saying why (a directory to hide that would hide HOME or the working
 * directory is refused).
 */
int confine_exec(char **cmd);

/* True when this process runs inside a confinement of ours. */
bool confine_inside(void);

#endif
