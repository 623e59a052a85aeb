/*
 * A clean exit (SIGTERM, SIGINT, --idle-exit): stop accepting, let the writer
 * finish what is in flight and queued, then wipe the keys and close every
 * handle, so that the loop ends and main returns. Apart from main.c, so that
 * the modules that start it (the signal watchers, the server's idle sweep)
 * link without main.
 */
#include <stddef.h>

#include "keyd.h"

/* The last write is done: wipe, close every session and let the loop end. */
static void
finish_shutdown(struct writer *w)
{
	struct keyd *k = (struct keyd *)((char *)w - offsetof(struct keyd, writer));

	state_stopped(k);
	server_close_all(&k->server);
	vault_close(&k->vault);
	state_close(k);
	uv_close((uv_handle_t *)&k->sig_term, NULL);
	uv_close((uv_handle_t *)&k->sig_int, NULL);
	uv_close((uv_handle_t *)&k->sig_hup, NULL);
}

void
keyd_shutdown(struct keyd *k)
{
	if (k->state.now == STATE_STOPPING)
		return;
	state_event(k, EV_STOP);
	server_stop(&k->server);
	writer_when_idle(&k->writer, finish_shutdown);
}
