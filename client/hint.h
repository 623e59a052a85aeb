/*
 * The one note on sealing that check and the first set on a terminal give:
 * what `ccr-config passphrase set` protects against and what it costs.
 */
#ifndef CCR_HINT_H
#define CCR_HINT_H

#include <stdio.h>

#include "cli.h"

/* Write the note to f when the daemon answers that the keystore is plain; else nothing. */
void hint_passphrase(struct cli *cli, FILE *f);

#endif
