/*
 * What ccr-config check's parts share: its warnings, which go to stderr and
 * into the list that --json prints, and the router part (check_router.c).
 */
#ifndef CCR_CHECK_H
#define CCR_CHECK_H

#include <stdbool.h>

#include "buf.h"
#include "cli.h"

/* Print "ccr-config: warning: MESSAGE" and add {"warning":code,"message":…} to warnings. */
void check_warn(struct buf *warnings, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Report on the router itself: whether one runs and got its keys from ccr-keyd
 * (its pid file and the preload's record), which version is installed, and
 * whether a config.sqlite (router 3.x) holds the keystore's keys in clear.
 * Lines go to stdout unless json; ,"router":{…} is appended to json_out.
 * Returns true when the installed router is 3.x or later (config.json is then
 * not where its configuration lives).
 */
bool check_router(struct cli *cli, bool json, struct buf *json_out, struct buf *warnings);

#endif
