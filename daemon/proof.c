/*
 * Reading a client's proof file for the hello reply. The file is the client's
 * and may be anything a same-uid peer names, so it is opened without following
 * a link or blocking on a FIFO, and only a short token of hex digits is echoed.
 */
#include "proof.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"

/* A token is 32 to 128 hex digits; the file may end with one newline. */
#define PROOF_MIN 32
#define PROOF_MAX 128

/* Read the token at path into tok (PROOF_MAX + 1 bytes). Returns its length, or 0. */
static size_t
read_token(const char *path, char *tok)
{
	struct stat st;
	ssize_t n = -1;
	size_t i;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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
proof_field(struct buf *out, const char *path)
{
	char tok[PROOF_MAX + 1];
	size_t n = path != NULL ? read_token(path, tok) : 0;

	if (n > 0)
		proto_field_str(out, "proof", tok, n);
}
