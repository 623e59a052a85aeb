/*
 * The daemon's one context: options, the store and its memory, the writer and
 * the server. Passed to whoever needs it; there is no other global state.
 */
#ifndef CCR_KEYD_H
#define CCR_KEYD_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "agent.h"
#include "arena.h"
#include "keyfile.h"
#include "paths.h"
#include "server.h"
#include "state.h"
#include "store.h"
#include "vault.h"
#include "writer.h"

enum start_mode {
	STARTED_BY_HAND,
	STARTED_BY_CLIENT,  /* auto-started by ccr-config */
	STARTED_BY_SOCKET,  /* socket-activated by systemd or launchd */
};

struct keyd_options {
	char socket[PATHS_MAX];
	char keys[PATHS_MAX];
	char home[PATHS_MAX];
	bool daemonize;
	bool verbose;
	bool spawned_by_client;
	double idle_exit_s;     /* 0: never */
	double conn_idle_s;     /* a connection idle this long is closed */
	char audit_log[PATHS_MAX];
	double lock_after_s; /* sealed: lock after this long unused, 0: never */
	bool no_agent_guard; /* serve peers inside coding agents like any other */
};

struct keyd {
	uv_loop_t *loop;
	struct keyd_options opt;
	struct arena *arena;
	struct store store;
	struct keyfile keyfile; /* the keystore file's identity, seal record and key */
	struct writer writer;
	struct server server;
	struct vault vault;
	struct state_machine state;
	struct agents agents; /* the agent guard: its list, guards and overrides */
	enum start_mode started_by;
	uint64_t started_ms;
	int lock_fd;
	int audit_fd;          /* -1 without --audit-log */
	unsigned long reloads; /* SIGHUP reloads done, for status (reload.c) */
	uv_signal_t sig_term, sig_int, sig_hup;
};

/* Begin a clean exit: stop accepting, finish writes, close everything. */
void keyd_shutdown(struct keyd *k);


#endif
