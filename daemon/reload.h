/*
 * The keystore file into memory: at start, and on SIGHUP. Either way a file
 * that would undo the seal is refused (docs/DESIGN.md, "Keystore file"): a plain or
 * missing keystore where a sealed one was, or a sealed one older than the
 * newest generation the daemon wrote or opened: keyfile_admit decides.
 */
#ifndef CCR_RELOAD_H
#define CCR_RELOAD_H

#include <stddef.h>

struct keyd;

/*
 * Start: read the seal record and the keystore file into k->keyfile and
 * k->store. Returns the form (enum ks_form), or -1 with err set: a file that
 * cannot be read, is not valid, or would undo the seal is refused, never
 * overwritten. A sealed file the record does not know yet is recorded as sealed.
 */
int reload_start(struct keyd *k, char *err, size_t errsize);

/*
 * SIGHUP: reload the file once the batch in flight (if any) is written, before
 * the changes queued behind it; never while stopping. A refused file is
 * logged, and the keys in memory are kept.
 */
void reload_request(struct keyd *k);

#endif
