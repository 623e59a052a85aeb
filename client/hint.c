/*
 * The note on sealing: said while the keystore is plain, by check and by the
 * set that stores the first key on a terminal, never otherwise.
 */
#include "hint.h"

#include <string.h>

/* True when the daemon answers that the keystore is plain (not sealed); its path in path. */
static bool
keystore_plain(struct cli *cli, char *path, size_t size)
{
	struct buf req = {0};
	struct jsonr *reply;
	bool plain;
	int rc;

	proto_request_begin(&req, OP_STATUS);
	proto_end(&req);
	reply = cli_call(cli, &req, &rc);
	buf_free(&req);
	plain = reply != NULL && conn_reply_error(reply, NULL) == PE_OK &&
	        jsonr_is(jsonr_get(reply, "sealed"), JSONR_FALSE);
	snprintf(path, size, "%s", reply != NULL ? cli_str(reply, "keystore") : "");
	conn_reply_free(reply);
	return plain;
}

void
hint_passphrase(struct cli *cli, FILE *f)
{
	char path[PATHS_MAX];

	if (!keystore_plain(cli, path, sizeof path))
		return;
	fprintf(f,
	        "note: the keystore %s is a plain file (mode 0600): a copy of it (a backup, a "
	        "synced folder, a lost disk) gives away every key.\n"
	        "  ccr-config passphrase set seals it, so that a copy holds nothing without the "
	        "passphrase. The cost: after each login or lock you type it (ccr-config "
	        "unlock) before the router or exec get a key, and a forgotten passphrase loses "
	        "the keys. It does not stop a program of yours while the keystore is "
	        "unlocked.\n",
	        path);
}
