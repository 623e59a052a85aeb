/*
 * One ccr-config migrate run, as cmd_migrate.c plans it and migrate_file.c
 * reads and writes the router's config for it.
 */
#ifndef CCR_MIGRATE_H
#define CCR_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "binding.h"
#include "buf.h"
#include "config.h"
#include "json5edit.h"
#include "jsonr.h"
#include "names.h"

/* What migrate does with one provider. */
enum plan_kind {
	PLAN_LEAVE, /* not a literal (a reference, no api_key, …): nothing to do */
	PLAN_SKIP,  /* a literal that has to stay, for the reason in the line */
	PLAN_STORE, /* store the key under name and env, then rewrite */
	PLAN_REUSE, /* the keystore holds the key already as env: rewrite only */
};

/* What happens to one provider, and the line that says so. */
struct plan {
	enum plan_kind kind;
	char label[NAME_MAX_LEN + 32]; /* the provider's name, or "provider N" */
	char name[NAME_MAX_LEN + 1];   /* the key name, for a literal */
	char derived[NAME_MAX_LEN + 1]; /* the key name made of a name that is not one, or "" */
	char env[ENV_MAX_LEN + 1];
	char ref[ENV_MAX_LEN + 2];    /* "$ENV", the api_key it gets */
	char line[512];               /* what to print after "label: " */
	const struct buf *value;      /* the literal, for a literal */
	struct names origins;         /* PLAN_STORE: the providers' origins it is bound to */
	char bound[BINDING_TEXT_MAX]; /* the binding in force once stored, or "" */
};

/* One migrate run. */
struct migration {
	const char *path;
	bool dry_run;
	struct buf text;
	struct stat st;
	struct json5edit_provider *p;
	size_t n;
	struct plan *plans;
	struct names taken;       /* env names the config references or this run chose */
	const struct jsonr *keys; /* the keystore's names and env names */
	const struct jsonr *values;
	struct config_provider *cp; /* the providers' origins, in the order of p */
	size_t ncp;
};

/* Read and scan the config at m->path. Returns 0 or an exit code after printing why. */
int migrate_load(struct migration *m);

/*
 * Rewrite the config with every placed literal replaced by its reference,
 * after a 0600 backup (its name in bak), atomically and with the file's mode,
 * and only when the file is still as read. Returns 0 or an exit code.
 */
int migrate_rewrite(struct migration *m, char *bak, size_t baksize);

#endif
