/*
 * Durations on the command line: "90", "90s", "15m", "2h", "1d".
 */
#ifndef CCR_DURATION_H
#define CCR_DURATION_H

/* Parse s into seconds; returns -1 when it is not a duration. */
double duration_parse(const char *s);

#endif
