/*
 * The daemon's log: one line per event to stderr (foreground) or to a file
 * (--daemon). Never pass a secret to these functions.
 */
#ifndef CCR_LOG_H
#define CCR_LOG_H

#include <stdbool.h>

/* Send log lines to path (created 0600, appended) instead of stderr. Returns 0 or -1. */
int log_open(const char *path);

/* Whether log_debug lines are written. */
void log_set_verbose(bool verbose);

/* Log an event worth keeping. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log a failure. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log detail for --verbose. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
