/*
 * Reading a client's proof file for the hello reply. The file is the client's
 * and its path is anything a same-uid peer names, so only a file directly in
 * the socket's directory whose name says it is a proof is read (a peer kept
 * away from the user's other files must not read them through us), it is
 * opened without following a link or blocking on a FIFO, and only a short
 * token of hex digits is echoed.
 */
#include "proof.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "proto.h"

/* A token is 32 to 128 hex digits; the file may end with one newline. */
#define PROOF_MIN 32
#define PROOF_MAX 128
/* What the name of every proof file begins with (client/node/index.cjs writes them). */
#define PROOF_PREFIX ".ccr-proof-"

/*
 * Open path when it names a file directly in the directory of the socket at
 * sock (the same directory, however the path spells it) whose name begins
 * with PROOF_PREFIX: never a link, never a wait. Returns an fd, or -1.
 */
static int
open_proof(const char *path, const char *sock)
{
	const char *slash = strrchr(path, '/'), *name = slash != NULL ? slash + 1 : "";
	char sock_dir[PATHS_MAX], dir[PATHS_MAX];
	struct stat named, ours;
	int dfd, fd = -1;

	if (sock[0] != '/' || strncmp(name, PROOF_PREFIX, strlen(PROOF_PREFIX)) != 0 ||
	    name[strlen(PROOF_PREFIX)] == '\0')
		return -1;
	snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	paths_dirname(sock, sock_dir, sizeof sock_dir);
	dfd = open(sock_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return -1;
	if (fstat(dfd, &ours) == 0 && stat(dir, &named) == 0 && named.st_dev == ours.st_dev &&
	    named.st_ino == ours.st_ino)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	return fd;
}

/* Read the token at path into tok (PROOF_MAX + 1 bytes). Returns its length, or 0. */
static size_t
read_token(const char *path, const char *sock, char *tok)
{
	struct stat st;
	ssize_t n = -1;
	size_t i;
	int fd;

	fd = open_proof(path, sock);
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    st.st_size <= PROOF_MAX + 1)
		n = read(fd, tok, PROOF_MAX + 1);
	close(fd);
	if (n > 0 && tok[n - 1] == '\n')
		n--;
	if (n < PROOF_MIN || n > PROOF_MAX)
		return 0;
	for (i = 0; i < (size_t)n; i++) {
		if (!((tok[i] >= '0' && tok[i] <= '9') || (tok[i] >= 'a' && tok[i] <= 'f')))
			return 0;
	}
	return (size_t)n;
}

void
proof_field(struct buf *out, const char *path, const char *sock)
{
	char tok[PROOF_MAX + 1];
	size_t n = path != NULL ? read_token(path, sock, tok) : 0;

	if (n > 0)
		proto_field_str(out, "proof", tok, n);
}
