/*
 * The audit log (--audit-log PATH): one JSON line per request and per refused
 * connection — time, op, key or env names, the peer (uid, pid, executable,
 * comm, command, and the coding agent it runs under), and the result. Never a
 * value.
 */
#ifndef CCR_AUDIT_H
#define CCR_AUDIT_H

#include <sys/types.h>

struct peer;

/*
 * Open path for appending: created 0600 when missing; only a regular file of
 * ours with mode 0600, in a directory of ours that others may not write to;
 * never a symlink, and never a wait (a FIFO is refused at once). Returns an
 * fd, or -1 with err set.
 */
int audit_open(const char *path, char *err, size_t errsize);

/*
 * Append one record to the log on fd (nothing when fd is -1). The peer is
 * named by uid, pid, exe ("?" when its link is closed), comm and cmd, and by
 * the agent whose tree it runs in when the agent guard found one; names is a
 * key name, a comma-separated list of env names, or NULL; origin is the
 * origin a use asked a key for, or NULL; result is an error code name or "ok".
 */
void audit_record(int fd, const struct peer *peer, const char *op, const char *names,
                  const char *origin, const char *result);

#endif
