/*
 * The keystore file into memory: at start, and on SIGHUP.
 */
#ifndef CCR_RELOAD_H
#define CCR_RELOAD_H

#include <stddef.h>
#include <sys/stat.h>

struct keyd;
struct store;

/*
 * Load the keystore file into a fresh store s and note the file's identity in
 * *st (st_nlink 0 when absent). Returns the form (enum ks_form), or -1 with
 * err set: a file that cannot be read or is not valid is refused, never
 * overwritten.
 */
int reload_read(struct keyd *k, struct store *s, struct stat *st, char *err, size_t errsize);

/*
 * SIGHUP: reload the file once the batch in flight (if any) is written, before
 * the changes queued behind it; never while stopping.
 */
void reload_request(struct keyd *k);

#endif
