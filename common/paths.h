/*
 * Where things live (docs/DESIGN.md, "Paths"): the home directory, the keystore and
 * the socket, each with its environment override, and the directory checks
 * that keep them private.
 */
#ifndef CCR_PATHS_H
#define CCR_PATHS_H

#include <stddef.h>

#define PATHS_MAX 1024

/* $CCR_HOME, else ~/.claude-code-router. Returns 0, or -1 with err set. */
int paths_home(char *out, size_t size, char *err, size_t errsize);

/* $CCR_KEYS, else $home/keys. Returns 0, or -1 with err set. */
int paths_keystore(char *out, size_t size, char *err, size_t errsize);

/*
 * $CCR_KEYD_SOCKET, else $XDG_RUNTIME_DIR/ccr-keyd/sock, else $home/keyd.sock.
 * Returns 0, or -1 with err set.
 */
int paths_socket(char *out, size_t size, char *err, size_t errsize);

/* Write the directory part of path to out ("." when there is none). */
void paths_dirname(const char *path, char *out, size_t size);

/*
 * Make sure dir is a private directory: create it with mode 0700 when missing
 * (mkdir_parents: also its missing parents, 0700), then check that it is a real
 * directory (not a symlink), owned by the effective uid, and not writable by
 * group or others. Returns 0, or -1 with err set to a message that says what
 * to do.
 */
int paths_private_dir(const char *dir, int mkdir_parents, char *err, size_t errsize);

#endif
