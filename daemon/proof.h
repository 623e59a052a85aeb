/*
 * The daemon's half of the Node client's proof (client/node/README.md, "Whom it
 * talks to"): a client that cannot read the server's peer credentials writes a
 * random token into a new 0600 file and asks, in its hello, for the token back.
 * Only a process of the same uid (or root) can read the file, so an answer
 * proves the daemon runs as the client's user.
 */
#ifndef CCR_PROOF_H
#define CCR_PROOF_H

#include "buf.h"

/*
 * Append ,"proof":"TOKEN" to a hello reply when path (may be NULL) names a
 * regular file of ours directly in the directory of the socket at sock, named
 * .ccr-proof-*, at most PROOF_MAX bytes, that holds one token of hex digits.
 * Append nothing otherwise: the client then refuses us.
 */
void proof_field(struct buf *out, const char *path, const char *sock);

#endif
